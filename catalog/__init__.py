"""Domain model, ports and storage adapters of the Mediasight catalog."""
