"""Drive a keelhaul server through the official, unmodified Alibaba Cloud Sas and Huawei Cloud
HSS Python SDKs. Reads a JSON config on stdin, runs one step (argv[1]), prints JSON results.

The Rust test compares what the SDKs return with the native API and the store; this script
only checks what is about the SDKs themselves (the errors they raise and their codes).
"""

import json
import sys
import time

from alibabacloud_sas20181203 import models as sas_models
from alibabacloud_sas20181203.client import Client as SasClient
from alibabacloud_tea_openapi import models as open_api_models
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_tea_util import models as util_models
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions import exceptions as hw_exceptions
from huaweicloudsdkhss.v5 import HssClient
from huaweicloudsdkhss.v5 import model as hss_models
from huaweicloudsdkcore.http.http_config import HttpConfig

CONFIG = json.load(sys.stdin)
HOST = CONFIG["endpoint"]  # host:port


def sas(ak, sk):
    return SasClient(
        open_api_models.Config(
            access_key_id=ak, access_key_secret=sk, endpoint=HOST, protocol="http"
        )
    )


def hss(ak, sk, project):
    config = HttpConfig.get_default_config()
    config.ignore_ssl_verification = True
    config.retry_times = 0
    creds = BasicCredentials(ak, sk, project)
    return (
        HssClient.new_builder()
        .with_credentials(creds)
        .with_endpoints(["http://" + HOST])
        .with_http_config(config)
        .build()
    )


def ali_error(call):
    try:
        call()
    except ClientException as e:
        return {"status": e.status_code, "code": e.code, "message": e.message}
    raise AssertionError("the call was expected to fail")


def hw_error(call):
    try:
        call()
    except hw_exceptions.ClientRequestException as e:
        return {
            "status": e.status_code,
            "code": e.error_code,
            "message": e.error_msg,
            "request_id": e.request_id,
        }
    raise AssertionError("the call was expected to fail")


def all_instances(client, **kwargs):
    items, page = [], 1
    while True:
        r = client.describe_image_instances(
            sas_models.DescribeImageInstancesRequest(page_size=2, current_page=page, **kwargs)
        )
        body = r.body.to_map()
        items.extend(body.get("ImageInstanceList") or [])
        info = body["PageInfo"]
        assert info["Count"] == len(body.get("ImageInstanceList") or []), body
        if page * 2 >= info["TotalCount"]:
            return items, info["TotalCount"]
        page += 1


def scan_task_status(client, task_id):
    """keelhaul's DescribeImageScanTask, through the SDK's generic call_api."""
    params = open_api_models.Params(
        action="DescribeImageScanTask",
        version="2018-12-03",
        protocol="HTTP",
        pathname="/",
        method="POST",
        auth_type="AK",
        style="RPC",
        body_type="json",
        req_body_type="json",
    )
    request = open_api_models.OpenApiRequest(query={"TaskId": task_id})
    r = client.call_api(params, request, util_models.RuntimeOptions())
    return r["body"]["Data"]


def step_aliyun():
    c = sas(CONFIG["ak"], CONFIG["sk"])
    out = {}
    crit = c.describe_image_criteria(sas_models.DescribeImageCriteriaRequest())
    out["criteria"] = [x["Name"] for x in crit.body.to_map()["CriteriaList"]]
    out["before"], out["before_total"] = all_instances(c)
    pre = c.public_pre_check_image_scan_task(
        sas_models.PublicPreCheckImageScanTaskRequest(repo_namespaces="team")
    )
    out["precheck"] = pre.body.to_map()["Data"]
    created = c.public_create_image_scan_task(
        sas_models.PublicCreateImageScanTaskRequest(repo_namespaces="team")
    )
    out["created"] = created.body.to_map()["Data"]
    assert isinstance(created.body.data.can_create, bool)
    deadline = time.time() + 120
    status = scan_task_status(c, out["created"]["TaskId"])
    while status["Status"] not in ("SUCCESS", "FAIL") and time.time() < deadline:
        time.sleep(0.5)
        status = scan_task_status(c, out["created"]["TaskId"])
    out["finished"] = status
    out["after"], out["after_total"] = all_instances(c)
    out["scanned_only"], _ = all_instances(c, scanned=True)
    crit_b = json.dumps([{"name": "repoName", "value": "b", "logicalExp": "OR"}])
    out["repo_b"], _ = all_instances(c, criteria=crit_b)
    crit_or = json.dumps(
        [
            {"name": "hcStatus", "value": "YES", "logicalExp": "OR"},
            {"name": "tag", "value": "no-such-tag", "logicalExp": "OR"},
        ]
    )
    out["risky_or"], _ = all_instances(c, criteria=crit_or, logical_exp="OR")
    counts = {}
    for name, req in {
        "all": sas_models.DescribeImageSecurityScanCountRequest(),
        "undealt": sas_models.DescribeImageSecurityScanCountRequest(dealed="N"),
        "dealt": sas_models.DescribeImageSecurityScanCountRequest(dealed="Y"),
        "image_b": sas_models.DescribeImageSecurityScanCountRequest(
            image_digest=CONFIG["digest_b"], scan_range=["image"]
        ),
        "cluster": sas_models.DescribeImageSecurityScanCountRequest(cluster_id="c-1"),
    }.items():
        counts[name] = c.describe_image_security_scan_count(req).body.to_map()["Data"]
    out["counts"] = counts
    out["errors"] = {
        "malformed_criteria": ali_error(
            lambda: c.describe_image_instances(
                sas_models.DescribeImageInstancesRequest(criteria="[{not json")
            )
        ),
        "unknown_criteria": ali_error(
            lambda: c.describe_image_instances(
                sas_models.DescribeImageInstancesRequest(
                    criteria=json.dumps([{"name": "colour", "value": "red"}])
                )
            )
        ),
        "page_size": ali_error(
            lambda: c.describe_image_instances(
                sas_models.DescribeImageInstancesRequest(page_size=1000)
            )
        ),
        "wrong_secret": ali_error(
            lambda: sas(CONFIG["ak"], CONFIG["sk"] + "-wrong").describe_image_instances(
                sas_models.DescribeImageInstancesRequest()
            )
        ),
        "unknown_key": ali_error(
            lambda: sas("LTAINOSUCHKEY", CONFIG["sk"]).describe_image_instances(
                sas_models.DescribeImageInstancesRequest()
            )
        ),
        "read_only_create": ali_error(
            lambda: sas(CONFIG["ro_ak"], CONFIG["ro_sk"]).public_create_image_scan_task(
                sas_models.PublicCreateImageScanTaskRequest(repo_namespaces="team")
            )
        ),
        "quota": ali_error(
            lambda: sas(CONFIG["poor_ak"], CONFIG["poor_sk"]).public_create_image_scan_task(
                sas_models.PublicCreateImageScanTaskRequest()
            )
        ),
    }
    return out


def swr_list(client, **kwargs):
    kwargs.setdefault("image_type", "private_image")
    r = client.list_swr_image_repository(hss_models.ListSwrImageRepositoryRequest(**kwargs))
    return {"total_num": r.total_num, "data_list": [d.to_dict() for d in r.data_list or []]}


def step_huawei():
    c = hss(CONFIG["hw_ak"], CONFIG["hw_sk"], CONFIG["project_id"])
    out = {
        "all": swr_list(c, limit=50, enterprise_project_id="all_granted_eps"),
        "page2": swr_list(c, limit=1, offset=1),
        "team_unsafe": swr_list(c, namespace="team", has_unsafe_setting=True),
        "by_name": swr_list(c, image_name="b", image_version="1"),
        "latest": swr_list(c, latest_version=True),
        "success": swr_list(c, scan_status="success"),
        "local": swr_list(c, image_type="local_image"),
    }
    out["errors"] = {
        "wrong_secret": hw_error(
            lambda: swr_list(hss(CONFIG["hw_ak"], CONFIG["hw_sk"] + "x", CONFIG["project_id"]))
        ),
        "other_project": hw_error(
            lambda: swr_list(hss(CONFIG["hw_ak"], CONFIG["hw_sk"], CONFIG["other_project_id"]))
        ),
        "no_image_type": hw_error(
            lambda: c.list_swr_image_repository(hss_models.ListSwrImageRepositoryRequest())
        ),
        "bad_limit": hw_error(lambda: swr_list(c, limit=100000)),
    }
    return out


def step_batch_scan():
    c = hss(CONFIG["hw_ak"], CONFIG["hw_sk"], CONFIG["project_id"])
    out = {"local": swr_list(c, image_type="local_image")}
    body = hss_models.LocalImageBatchScanRequestBody(
        operate_all=False,
        image_info_list=[
            hss_models.LocalImageInfo(
                image_name=CONFIG["local_name"], image_version=CONFIG["local_tag"]
            )
        ],
    )
    r = c.batch_scan_local_image(
        hss_models.BatchScanLocalImageRequest(region="local-1", body=body)
    )
    out["status"] = r.status_code
    out["no_region"] = hw_error(
        lambda: c.batch_scan_local_image(hss_models.BatchScanLocalImageRequest(body=body))
    )
    out["nothing_named"] = hw_error(
        lambda: c.batch_scan_local_image(
            hss_models.BatchScanLocalImageRequest(
                region="local-1", body=hss_models.LocalImageBatchScanRequestBody(operate_all=False)
            )
        )
    )
    return out


def step_local_after():
    c = hss(CONFIG["hw_ak"], CONFIG["hw_sk"], CONFIG["project_id"])
    return {"local": swr_list(c, image_type="local_image")}


STEPS = {
    "aliyun": step_aliyun,
    "huawei": step_huawei,
    "batch_scan": step_batch_scan,
    "local_after": step_local_after,
}

if __name__ == "__main__":
    print(json.dumps(STEPS[sys.argv[1]](), default=str))
