"""costbreaker: a policy-as-code scanner for cost-runaway guardrails on AWS."""

__version__ = "0.1.0"
