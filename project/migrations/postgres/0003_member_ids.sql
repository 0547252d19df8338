-- Members get a number of their own (Harbor's member id), drawn from
-- project_member_seq so that it is never reused. Existing members are
-- numbered in key order.
CREATE TABLE project_member_seq (
    last_id BIGINT NOT NULL
);

ALTER TABLE project_members ADD COLUMN id BIGINT;
UPDATE project_members m SET id = n.rn
    FROM (SELECT project_id, subject, repositories,
                 ROW_NUMBER() OVER (ORDER BY project_id, subject, repositories) AS rn
          FROM project_members) n
    WHERE m.project_id = n.project_id AND m.subject = n.subject AND m.repositories = n.repositories;
ALTER TABLE project_members ALTER COLUMN id SET NOT NULL;
ALTER TABLE project_members ADD CONSTRAINT project_members_id_key UNIQUE (id);
INSERT INTO project_member_seq (last_id) SELECT COALESCE(MAX(id), 0) FROM project_members;
