"""Logger and tracer, created once. Application logs never carry personal data: log codes and ids."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Tracer

logger = Logger(service="juki")
tracer = Tracer(service="juki")
