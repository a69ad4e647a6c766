"""The customer-list upload engine: identifier rules and readers, the hashing pool, batches, mirror state.

``PinterestUploadCustomerListOperator`` builds an ``UploadPlan`` per list from its rendered arguments (one,
or one per identifier type: ``typed_lists``) and hands them to ``upload.run_uploads``, which reads, hashes,
diffs and sends, and returns an ``UploadResult`` per list.
"""
