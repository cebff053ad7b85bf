"""harness: does a system prompt get a small instruct model there, or does a LoRA adapter do better?"""

__version__ = "0.1.0"
