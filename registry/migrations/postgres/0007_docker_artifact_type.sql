-- PostgreSQL translation of migrations/sqlite/0007_docker_artifact_type.sql.
UPDATE registry_manifests
    SET artifact_type = COALESCE(convert_from(content, 'UTF8')::json -> 'config' ->> 'mediaType', '')
    WHERE media_type = 'application/vnd.docker.distribution.manifest.v2+json' AND artifact_type = '';
