"""Rendering what sparkctl hands to other tools: inventories, bundles, diagrams."""
