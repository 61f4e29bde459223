"""The project's own dbt-score rules: its layering, testing and documentation
conventions (explained in CONTRIBUTING.md), checked on every `make lint`.

Each module holds the rules of one concern; `pyproject.toml` lists this
package in `rule_namespaces`, so a rule added to any module here is picked up
without further registration. Rule names read `house_rules.<module>.<rule>`.

Rule modules must not use `from __future__ import annotations`: dbt-score
reads the evaluated type annotation to know what a rule applies to.
"""
