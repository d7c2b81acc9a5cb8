"""What users call: the Python API, batch, the queryable dataset, the SPARQL server, the code map."""
