"""Partition and sort keys of the shared DynamoDB table's items (the table: catalog.dynamodb.schema)."""

from __future__ import annotations

from catalog.dynamodb.values import Item

TENANT_SK = "TENANT"
TENANT_NAME_SK = "TENANTNAME"
KEY_SK = "KEY"
ASSET_PREFIX = "ASSET#"
ASSET_END = "ASSET$"  # sorts right after every "ASSET#..." key


def tenant_pk(tenant_id: str) -> str:
    return f"TENANT#{tenant_id}"


def tenant_name_pk(name: str) -> str:
    return f"TENANTNAME#{name}"


def api_key_pk(key_hash: str) -> str:
    return f"KEY#{key_hash}"


def api_key_sk(key_id: str) -> str:
    return f"APIKEY#{key_id}"


def children_prefix(parent_id: str) -> str:
    return f"CHILD#{parent_id}#"


def child_sk(parent_id: str, child_id: str) -> str:
    return f"{children_prefix(parent_id)}{child_id}"


def asset_sk(asset_id: str) -> str:
    return f"{ASSET_PREFIX}{asset_id}"


def sha_sk(sha256: str) -> str:
    return f"SHA#{sha256}"


def result_pk(tenant_id: str, asset_id: str) -> str:
    return f"TENANT#{tenant_id}#ASSET#{asset_id}"


def result_sk(analyzer: str) -> str:
    return f"RESULT#{analyzer}"


def phash_pk(tenant_id: str) -> str:
    return f"TENANT#{tenant_id}#PHASH"


def phash_sk(asset_id: str) -> str:
    return f"PHASH#{asset_id}"


def person_sk(person_id: str) -> str:
    return f"PERSON#{person_id}"


def person_name_sk(name: str) -> str:
    return f"PERSONNAME#{name.lower()}"


def faces_pk(tenant_id: str) -> str:
    return f"TENANT#{tenant_id}#FACES"


def asset_faces_prefix(asset_id: str) -> str:
    return f"FACE#{asset_id}#"


def face_sk(asset_id: str, face_index: int) -> str:
    return f"{asset_faces_prefix(asset_id)}{face_index:06d}"


def key(pk: str, sk: str) -> Item:
    return {"PK": {"S": pk}, "SK": {"S": sk}}
