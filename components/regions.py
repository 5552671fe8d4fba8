"""Availability-zone letters per region, so params can be checked offline.

Only regions listed here are accepted; add a region (with the AZ letters your
account sees: `aws ec2 describe-availability-zones --region R`) to use it.
The letters are the zone-name suffixes AWS documents for each region; some
accounts see fewer in older regions (us-west-1 exposes two of its three).
"""

from __future__ import annotations

AZ_LETTERS: dict[str, str] = {
    "us-east-1": "abcdef",
    "us-east-2": "abc",
    "us-west-1": "abc",
    "us-west-2": "abcd",
    "ca-central-1": "abd",
    "sa-east-1": "abc",
    "eu-west-1": "abc",
    "eu-west-2": "abc",
    "eu-west-3": "abc",
    "eu-central-1": "abc",
    "eu-north-1": "abc",
    "ap-south-1": "abc",
    "ap-east-1": "abc",
    "ap-northeast-1": "acd",
    "ap-northeast-2": "abcd",
    "ap-southeast-1": "abc",
    "ap-southeast-2": "abc",
}

# The Elastic Load Balancing account that delivers ALB access logs in the
# regions that predate August 2022 (AWS's "Enable access logs" guide); newer
# regions deliver as the service principal logdelivery.elasticloadbalancing.
ELB_LOG_ACCOUNTS: dict[str, str] = {
    "us-east-1": "127311923021",
    "us-east-2": "033677994240",
    "us-west-1": "027434742980",
    "us-west-2": "797873946194",
    "ca-central-1": "985666609251",
    "sa-east-1": "507241528517",
    "eu-west-1": "156460612806",
    "eu-west-2": "652711504416",
    "eu-west-3": "009996457667",
    "eu-central-1": "054676820928",
    "eu-north-1": "897822967062",
    "ap-south-1": "718504428378",
    "ap-east-1": "754344448648",
    "ap-northeast-1": "582318560864",
    "ap-northeast-2": "600734575887",
    "ap-southeast-1": "114774131450",
    "ap-southeast-2": "783225319266",
}

# us-west-1 has three zone names but any one account can use only two.
MAX_USABLE_AZS: dict[str, int] = {"us-west-1": 2}


def max_azs(region: str) -> int:
    return MAX_USABLE_AZS.get(region, len(AZ_LETTERS[region]))


def valid_azs(region: str) -> list[str]:
    return [f"{region}{letter}" for letter in AZ_LETTERS[region]]
