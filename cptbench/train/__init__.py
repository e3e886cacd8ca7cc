"""Reference trainers (thin TRL wrappers), rewards, LoRA, replay and stage orders."""
