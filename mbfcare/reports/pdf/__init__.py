"""Printed documents in Vietnamese administrative style (Nghị định 30/2020/NĐ-CP): gift
receipts, signature lists, survey and information forms, store invitations."""
