"""The ontology as code sees it: loading it, its names, its query files and library, its
shapes, its checks (`chemoden check`, and the billing invariants checked before coding), and
the cached closure."""
