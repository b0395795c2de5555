-- Record migration :version (file :name) as applied.
INSERT INTO dyno_crm.dynoreport_schema_version (version, name)
VALUES (:version::integer, :name)
