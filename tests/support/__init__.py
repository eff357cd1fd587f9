"""What the tests share that is not a fixture: tiny random-weight models (tiny_models), a fake
chat-completions server (fake_llm), runs made, edited and read as a user would (runs), and
Hugging Face cache entries for offline loading (hub). Fixtures and hooks stay in conftest.py.
"""
