"""The customer-list upload engine: identifier rules and readers, the hashing pool, batches, mirror state.

``PinterestUploadCustomerListOperator`` builds an ``UploadPlan`` from its rendered arguments and hands it to
``upload.run_upload``, which reads, hashes, diffs and sends, and returns an ``UploadResult``.
"""
