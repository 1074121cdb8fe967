"""moto's server for tests/awskms.rs, with IAM authentication on.

Starts moto on a free loopback port, creates (unauthenticated, before enforcement) IAM users
with access keys, a role for web identity, and temporary credentials of that role; then turns
moto's IAM simulation on, so from then on every request must carry a valid SigV4 signature by
one of those keys and be allowed by their policies. Prints one JSON line describing all that,
then serves until its stdin closes (the test process ended).

Usage: python moto_kms.py WEB_IDENTITY_TOKEN
"""

import json
import logging
import sys

import boto3
import requests
from moto.core.authorization import ActionAuthenticatorMixin
from moto.core.exceptions import _RESTError
from moto.server import ThreadedMotoServer

WEB_IDENTITY_TOKEN = sys.argv[1]
logging.getLogger("werkzeug").setLevel(logging.ERROR)

_authenticate = ActionAuthenticatorMixin._authenticate_and_authorize_action


def _authenticate_like_aws(self, iam_request_cls, resource="*"):
    # AssumeRoleWithWebIdentity is unsigned in AWS: the web identity token is the credential.
    # moto's IAM simulation wants a signature on it, so check the token here instead.
    if self._get_action() == "AssumeRoleWithWebIdentity":
        if self._get_param("WebIdentityToken") != WEB_IDENTITY_TOKEN:
            raise _RESTError("InvalidIdentityToken", "the web identity token is not valid")
        return
    return _authenticate(self, iam_request_cls, resource)


ActionAuthenticatorMixin._authenticate_and_authorize_action = _authenticate_like_aws


def policy(actions):
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}],
        }
    )


server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
_, port = server.get_host_and_port()
url = f"http://127.0.0.1:{port}"
setup = dict(
    endpoint_url=url,
    region_name="us-east-1",
    aws_access_key_id="AKIASETUPSETUPSETUP0",
    aws_secret_access_key="setup",
)
iam = boto3.client("iam", **setup)
sts = boto3.client("sts", **setup)


def user(name, actions):
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="kms", PolicyDocument=policy(actions))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {"id": key["AccessKeyId"], "secret": key["SecretAccessKey"]}


admin = user("admin", "kms:*")
wrap_only = user("wrap-only", ["kms:Encrypt", "kms:GenerateDataKey"])
trust = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/oidc.example"},
            "Action": "sts:AssumeRoleWithWebIdentity",
        }
    ],
}
role = iam.create_role(RoleName="model-loader", AssumeRolePolicyDocument=json.dumps(trust))
role_arn = role["Role"]["Arn"]
iam.put_role_policy(RoleName="model-loader", PolicyName="kms", PolicyDocument=policy("kms:*"))
assumed = sts.assume_role(RoleArn=role_arn, RoleSessionName="instance")["Credentials"]

requests.post(f"{url}/moto-api/reset-auth", data=b"0").raise_for_status()

print(
    json.dumps(
        {
            "url": url,
            "admin": admin,
            "wrap_only": wrap_only,
            "role_arn": role_arn,
            "assumed": {
                "id": assumed["AccessKeyId"],
                "secret": assumed["SecretAccessKey"],
                "token": assumed["SessionToken"],
                "expiration": assumed["Expiration"].strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
        }
    ),
    flush=True,
)
sys.stdin.read()
server.stop()
