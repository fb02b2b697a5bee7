"""Small specs that teach the modeling language (docs/modeling-language.md) and test the engines."""
