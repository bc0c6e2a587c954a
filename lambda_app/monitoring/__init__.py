"""Model monitoring: population stability (PSI/CSI) against the bundle's reference, and outcomes."""
