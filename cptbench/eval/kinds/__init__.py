"""Task kinds: how a task's inputs become backend requests and one number; a registry by name."""
