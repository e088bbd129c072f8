"""MBF Care: customer-care gift campaigns for MobiFone's Region 5 provincial branches."""

__version__ = "0.1.0"
APP_NAME = "MBFCare"
ORG_NAME = "MBFCare"
