"""Instruction building: records and documents → Samples (chat messages).

importers.py maps jsonl/csv records to messages (shared by ingest and instruction building).
"""
