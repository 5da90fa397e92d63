#!/usr/bin/python
# -*- coding: utf-8 -*-
# tiergate_admin: applies a site's tier definitions (admin API) and bucket lifecycle rules (S3 API) to a tiergate
# gateway, SigV4-signed with the root credentials (service s3), using only Python's standard library so that it
# runs on any managed node. Each item is read back first and written only when it differs, so re-runs change
# nothing; check mode reports what would change.
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: tiergate_admin
short_description: Apply tiergate tier definitions and bucket lifecycle rules
description:
  - Puts each tier with C(PUT /tiergate/admin/v1/tiers) unless C(GET /tiergate/admin/v1/tiers/{name}) already
    returns the same fields (secretKey, which the gateway does not return, is sent only when the tier is new or
    changed). Optional fields left out (endpoint, prefix, storageClass) are not compared, since the gateway fills
    in its defaults; accessKey always is, so removing the keys switches the tier to the default credential chain.
    A new secretKey under the same accessKey is not detected (the clouds rotate by issuing a new key pair).
  - The gateway probes every new or changed tier (put, get, list, delete of a probe object) before saving it; a
    failed probe fails the task with the gateway's TierProbeFailed message.
  - Puts each bucket's lifecycle with S3 PutBucketLifecycleConfiguration unless GetBucketLifecycleConfiguration
    returns the same rules.
  - First lists buckets (a signed GET /) so that bad credentials fail with the gateway's own error code.
options:
  url: {description: Base URL of the gateway., type: str, required: true}
  region: {description: Region the gateway signs for (TIERGATE_REGION)., type: str, default: us-east-1}
  access_key: {description: Root access key (TIERGATE_ROOT_USER)., type: str, required: true}
  secret_key: {description: Root secret key (TIERGATE_ROOT_PASSWORD)., type: str, required: true}
  tiers: {description: Tier definitions as the admin API takes them., type: list, elements: dict, default: []}
  lifecycle: {description: "List of {bucket, rules} with rules shaped like S3's LifecycleConfiguration JSON.",
              type: list, elements: dict, default: []}
author: tiergate maintainers
"""

import base64
import datetime
import hashlib
import hmac
import json
import xml.etree.ElementTree as ET

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.six.moves.urllib.parse import quote, urlsplit
from ansible.module_utils.six.moves.urllib.request import Request, urlopen

S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"
# List fields of a LifecycleConfiguration and the XML element each item is written as.
LIST_ELEMENTS = {
    "Rules": "Rule",
    "Transitions": "Transition",
    "NoncurrentVersionTransitions": "NoncurrentVersionTransition",
    "Tags": "Tag",
}
ELEMENT_LISTS = dict((v, k) for k, v in LIST_ELEMENTS.items())
TIER_FIELDS = ("name", "type", "endpoint", "region", "bucket", "prefix", "storageClass", "accessKey")


class GatewayError(Exception):
    """A non-2xx answer: HTTP status, S3 or admin error code, and message."""

    def __init__(self, status, code, message):
        Exception.__init__(self, "HTTP %s %s: %s" % (status, code, message))
        self.status = status
        self.code = code


def sign(method, url, region, access_key, secret_key, body, now):
    """Headers of a SigV4-signed request (service s3, signed payload hash)."""
    parts = urlsplit(url)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    payload_hash = hashlib.sha256(body).hexdigest()
    query = []
    for pair in filter(None, parts.query.split("&")):
        key, _, value = pair.partition("=")
        query.append((quote(key, safe="-_.~"), quote(value, safe="-_.~")))
    canonical_query = "&".join("%s=%s" % kv for kv in sorted(query))
    headers = {"host": parts.netloc, "x-amz-content-sha256": payload_hash, "x-amz-date": amz_date}
    if body:
        headers["content-md5"] = base64.b64encode(hashlib.md5(body).digest()).decode()
    signed = ";".join(sorted(headers))
    canonical = "\n".join([
        method,
        parts.path or "/",  # already URI-encoded by the caller
        canonical_query,
        "".join("%s:%s\n" % (k, headers[k]) for k in sorted(headers)),
        signed,
        payload_hash,
    ])
    scope = "%s/%s/s3/aws4_request" % (day, region)
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + secret_key).encode()
    for part in (day, region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
        access_key, scope, signed, signature)
    return headers


def call(params, method, path, body=b"", content_type=None):
    """Sends one signed request; returns (status, body bytes) for 2xx, raises GatewayError otherwise."""
    url = params["url"].rstrip("/") + path
    headers = sign(method, url, params["region"], params["access_key"], params["secret_key"], body,
                   datetime.datetime.utcnow())
    if content_type:
        headers["content-type"] = content_type
    if body:
        # S3 requires an integrity header on PutBucketLifecycleConfiguration; it is harmless elsewhere.
        headers["content-md5"] = base64.b64encode(hashlib.md5(body).digest()).decode("ascii")
    request = Request(url, data=body if method in ("PUT", "POST") else None, headers=headers)
    request.get_method = lambda: method
    try:
        response = urlopen(request, timeout=30)
        return response.getcode(), response.read()
    except HTTPError as err:
        raw = err.read()
        code, message = "HTTP%s" % err.code, raw[:300].decode("utf-8", "replace")
        try:
            root = ET.fromstring(raw)
            code = root.findtext("Code") or code
            message = root.findtext("Message") or message
        except ET.ParseError:
            try:
                data = json.loads(raw.decode("utf-8"))
                code = str(data.get("code") or data.get("error") or code)
                message = str(data.get("message") or message)
            except ValueError:
                pass
        raise GatewayError(err.code, code, message)


def to_xml(parent, name, value):
    """Writes one field of a LifecycleConfiguration (JSON shape) as XML under parent."""
    if isinstance(value, list):
        for item in value:
            to_xml(parent, LIST_ELEMENTS.get(name, name), item)
        return
    element = ET.SubElement(parent, name)
    if isinstance(value, dict):
        for key in sorted(value):
            to_xml(element, key, value[key])
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    else:
        element.text = str(value)


def from_xml(element):
    """Reads a LifecycleConfiguration element back into the JSON shape, every leaf as a string."""
    children = list(element)
    if not children:
        return (element.text or "").strip()
    out = {}
    parent = element.tag.split("}")[-1]
    for child in children:
        name = child.tag.split("}")[-1]
        # Tag elements form a Tags list only inside And; a Filter's single Tag stays an object.
        if name in ELEMENT_LISTS and (name != "Tag" or parent == "And"):
            out.setdefault(ELEMENT_LISTS[name], []).append(from_xml(child))
        else:
            out[name] = from_xml(child)
    return out


def normalize(value):
    """The JSON shape with every leaf as the string the XML would carry."""
    if isinstance(value, list):
        return [normalize(v) for v in value]
    if isinstance(value, dict):
        return dict((k, normalize(v)) for k, v in value.items())
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def apply_tier(module, params, tier):
    missing = [f for f in ("name", "type", "bucket") if not tier.get(f)]
    if missing:
        module.fail_json(msg="tier %r lacks %s" % (tier.get("name"), ", ".join(missing)))
    try:
        _, raw = call(params, "GET", "/tiergate/admin/v1/tiers/" + quote(tier["name"], safe=""))
        current = json.loads(raw.decode("utf-8"))
        compared = [f for f in TIER_FIELDS if f in tier or f == "accessKey"]
        if all(str(current.get(f, "")) == str(tier.get(f, "")) for f in compared):
            return False
    except GatewayError as err:
        if err.status != 404 or err.code not in ("NoSuchTier", "NotFound", "HTTP404"):
            raise
    if not module.check_mode:
        call(params, "PUT", "/tiergate/admin/v1/tiers", json.dumps(tier, sort_keys=True).encode(),
             "application/json")
    return True


def apply_lifecycle(module, params, entry):
    bucket, rules = entry.get("bucket"), entry.get("rules")
    if not bucket or not isinstance(rules, list):
        module.fail_json(msg="lifecycle entries need a bucket and a list of rules: %r" % (entry,))
    path = "/" + quote(bucket, safe="") + "?lifecycle"
    desired = normalize({"Rules": rules})
    try:
        _, raw = call(params, "GET", path)
        if from_xml(ET.fromstring(raw)) == desired:
            return False
    except GatewayError as err:
        if err.code != "NoSuchLifecycleConfiguration":
            raise
    if not module.check_mode:
        root = ET.Element("LifecycleConfiguration", xmlns=S3_NS)
        to_xml(root, "Rules", rules)
        call(params, "PUT", path, ET.tostring(root, encoding="utf-8"), "application/xml")
    return True


def main():
    module = AnsibleModule(
        argument_spec=dict(
            url=dict(type="str", required=True),
            region=dict(type="str", default="us-east-1"),
            access_key=dict(type="str", required=True),
            secret_key=dict(type="str", required=True, no_log=True),
            tiers=dict(type="list", elements="dict", default=[]),
            lifecycle=dict(type="list", elements="dict", default=[]),
        ),
        supports_check_mode=True,
    )
    params = module.params
    # Only the tiers' secret keys are secret; names and buckets stay readable in results and errors.
    for tier in params["tiers"]:
        if tier.get("secretKey"):
            module.no_log_values.add(str(tier["secretKey"]))
    changed = []
    step = "ListBuckets (checks the URL and root credentials)"
    try:
        call(params, "GET", "/")
        for tier in params["tiers"]:
            step = "tier %s" % tier.get("name")
            if apply_tier(module, params, tier):
                changed.append(step)
        for entry in params["lifecycle"]:
            step = "lifecycle of bucket %s" % entry.get("bucket")
            if apply_lifecycle(module, params, entry):
                changed.append(step)
    except GatewayError as err:
        module.fail_json(msg="%s: %s" % (step, err), status=err.status, code=err.code, changed=bool(changed),
                         applied=changed)
    except URLError as err:
        module.fail_json(msg="%s: cannot reach %s: %s" % (step, params["url"], err.reason), applied=changed)
    module.exit_json(changed=bool(changed), applied=changed)


if __name__ == "__main__":
    main()
