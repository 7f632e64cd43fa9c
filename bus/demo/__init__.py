"""The demo and its fake LLM: an application built on bus, outside the library's layers.

- :mod:`bus.demo.transcript`: ``bus demo``, the agent company of ``workers/`` at work;
- :mod:`bus.demo.fake_llm`: ``bus fake-llm``, a local server that the OpenAI and Anthropic SDKs
  talk to, for offline agents.

Nothing of the library imports this package; only the CLI launches it.
"""
