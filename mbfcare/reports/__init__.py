"""PDF forms and workbooks (receipts, lists, regional export) come here in later issues."""
