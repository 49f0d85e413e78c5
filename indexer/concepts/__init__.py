"""Custom concepts at work: the linear probe (training, scoring) and the concept stage of an analysis."""
