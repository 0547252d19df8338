-- Docker schema 2 manifests record their config's media type as their
-- artifact type, as OCI manifests always did (manifest_parse.go); rows
-- stored before read it from their content.
UPDATE registry_manifests
    SET artifact_type = COALESCE(json_extract(CAST(content AS TEXT), '$.config.mediaType'), '')
    WHERE media_type = 'application/vnd.docker.distribution.manifest.v2+json' AND artifact_type = ''
    AND json_valid(CAST(content AS TEXT));
