"""A fake AWS on loopback for trying the bot without an AWS account (`eco-bot shell --demo`) and for its
tests: moto behind a gateway that enforces IAM trust and identity policies (`gateway`, `iam_policy`), a
fake of the CUR and Data Exports APIs moto lacks (`billing`), and customer accounts set up the way a
customer would (`world`). The bot reaches it only through boto3's standard AWS_ENDPOINT_URL variables.
"""
