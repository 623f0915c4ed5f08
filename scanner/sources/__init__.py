"""Inputs: CloudFormation, Terraform and live accounts, each turned into the one inventory."""
