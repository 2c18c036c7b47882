"""importer: the Excel template, uploaded client files, parsing, validation, preview, import jobs."""
