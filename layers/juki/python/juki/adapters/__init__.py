"""Adapters: DynamoDB (pynamodb), Step Functions, staff tokens, and the other outside parts."""
