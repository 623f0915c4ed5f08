"""CB105, CB2xx and CB3xx on the aws-cloudformation-templates corpus: every finding is
pinned and was judged true (see the reasons below); anything new fails the test.

- CB202 s3:ReplicationTags (8 templates, 12 policies): the S3 replication samples grant
  `s3:ReplicationTags`, which is not an IAM action (the real one is `s3:ReplicateTags`),
  so tag replication is not authorized — a true, silent policy bug.
- CB105/CB201 on the Boto3 macro's ResourceFunction: a SAM function with the AWS managed
  PowerUserAccess policy can launch instances and invoke models, has no reserved
  concurrency, and no breaker exists in the template — true by the rules' definitions.
  CB305 does not fire there: PowerUserAccess grants model calls only through NotAction,
  which is capability, not evidence the function calls models.
"""

from __future__ import annotations

from costbreaker.engine import select_rules
from tests.conftest import CORPUS, hits, requires_shared, run_scan

TEMPLATES = CORPUS / "aws-cloudformation-templates"
STACKSETS = "CloudFormation/StackSets"

PINNED = [
    ("CB105", "ResourceFunction", "CloudFormation/MacrosExamples/Boto3/macro.json", 4),
    ("CB105", "ResourceFunction", "CloudFormation/MacrosExamples/Boto3/macro.yaml", 4),
    ("CB201", "ResourceFunction", "CloudFormation/MacrosExamples/Boto3/macro.json", 4),
    ("CB201", "ResourceFunction", "CloudFormation/MacrosExamples/Boto3/macro.yaml", 4),
    ("CB202", "CloudFrontLogsReplicationPolicy", "S3/compliant-static-website.json", 373),
    ("CB202", "CloudFrontLogsReplicationPolicy", "S3/compliant-static-website.yaml", 214),
    ("CB202", "ContentReplicationPolicy", "S3/compliant-static-website.json", 770),
    ("CB202", "ContentReplicationPolicy", "S3/compliant-static-website.yaml", 431),
    ("CB202", "ObjectStorageReplicationPolicy", "S3/compliant-bucket.json", 369),
    ("CB202", "ObjectStorageReplicationPolicy", "S3/compliant-bucket.yaml", 212),
    ("CB202", "ReplicationPolicy", "RainModules/bucket.yml", 159),
    ("CB202", "SiteCloudFrontLogsReplicationPolicy", "Solutions/WebApp/webapp.json", 850),
    ("CB202", "SiteCloudFrontLogsReplicationPolicy", "Solutions/WebApp/webapp.yaml", 474),
    ("CB202", "SiteContentReplicationPolicy", "Solutions/WebApp/webapp.json", 429),
    ("CB202", "SiteContentReplicationPolicy", "Solutions/WebApp/webapp.yaml", 246),
    ("CB202", "StorageReplicationPolicy", f"{STACKSETS}/common-resources-pkg.json", 205),
]


@requires_shared(TEMPLATES)
def test_corpus_findings_are_the_judged_ones() -> None:
    rules = select_rules(["CB105", "CB2xx", "CB3xx"])
    result = run_scan(TEMPLATES, root=TEMPLATES, rules=rules)
    assert sorted(hits(result)) == PINNED
    replication = [f for f in result.findings if f.rule_id == "CB202"]
    assert all("did you mean 's3:ReplicateTags'" in f.message for f in replication)


@requires_shared(TEMPLATES)
def test_corpus_scan_adds_no_input_errors() -> None:
    result = run_scan(TEMPLATES, root=TEMPLATES, rules=select_rules(["CB2xx", "CB3xx"]))
    assert not [e for e in result.errors if "could not be analysed" in e.message]
