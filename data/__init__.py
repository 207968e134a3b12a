"""Shipped data sets (CSV snapshots); load them with tinynet.datasets.load(name)."""
