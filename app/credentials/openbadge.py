"""The Open Badges 3.0 OpenBadgeCredential of a certificate (pure: values in, JSON-LD out)."""

from dataclasses import dataclass
from datetime import datetime

from app.credentials.jsonld import CONTROL, OB_V3, VC_V2, UnsafeDocument

ISSUER_NAME = "Work Management Institute"


@dataclass(frozen=True)
class BadgeInput:
    credential_url: str
    verify_url: str
    number: str
    issuer_did: str
    base_url: str
    track_code: str
    track_title: str
    track_summary: str
    holder_name: str
    valid_from: datetime
    valid_until: datetime
    status: dict
    image_url: str = ""  # the achievement's badge (PNG)


def xsd(value: datetime) -> str:
    """An XSD dateTimeStamp in UTC, to the second."""
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def build(data: BadgeInput) -> dict:
    """The unsigned credential; refuses control characters in the holder's name."""
    if CONTROL.search(data.holder_name):
        raise UnsafeDocument("The holder's name holds a control character.")
    achievement_url = f"{data.base_url}/tracks/{data.track_code}"
    return {
        "@context": [VC_V2, OB_V3],
        "id": data.credential_url,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": f"{data.track_title} ({data.track_code})",
        "description": f"Certificate {data.number} issued by the {ISSUER_NAME}.",
        "issuer": {
            "id": data.issuer_did,
            "type": ["Profile"],
            "name": ISSUER_NAME,
            "url": data.base_url,
        },
        "validFrom": xsd(data.valid_from),
        "validUntil": xsd(data.valid_until),
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "name": data.holder_name,
            "identifier": [
                {
                    "type": "IdentityObject",
                    "identityType": "name",
                    "hashed": False,
                    "identityHash": data.holder_name,
                },
            ],  # no e-mail identifier: docs/CREDENTIALS.md, "The holder's identity"
            "licenseNumber": data.number,
            "achievement": {
                "id": achievement_url,
                "type": ["Achievement"],
                "achievementType": "Certification",
                "name": data.track_title,
                "description": data.track_summary,
                "criteria": {
                    "narrative": "Pass the adaptive certification examination of the track "
                    "(or renew an active certificate with continuing education or re-examination).",
                },
                # no "creator" Profile: it would repeat the issuer node, and RDF merges
                # duplicate statements, so deleting either copy would leave the proof valid
                "humanCode": data.track_code,
                **(
                    {
                        "image": {
                            "id": data.image_url,
                            "type": "Image",
                            "caption": f"The {data.track_code} badge of the {ISSUER_NAME}",
                        }
                    }
                    if data.image_url
                    else {}
                ),
            },
        },
        "evidence": [
            {
                "id": data.verify_url,
                "type": ["Evidence"],
                "name": "Public verification page",
            }
        ],
        "credentialStatus": data.status,
    }
