"""AWS side: verification of a customer's account and the CloudFormation template they launch."""
