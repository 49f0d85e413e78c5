"""Pure rules over labels: their order and merging, and the words that describe what was found."""
