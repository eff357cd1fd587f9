"""What the tests share that is not a fixture: tiny random-weight models (tiny_models), a fake
chat-completions server (fake_llm), runs made, edited and read as a user would (runs),
Hugging Face cache entries for offline loading (hub) and plans broken one JSON path at a time
(malformed). Fixtures and hooks stay in conftest.py.
"""
