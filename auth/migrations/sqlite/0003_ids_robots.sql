-- Robots get a numeric id, as Harbor's API addresses them
-- (/robots/{robot_id}), drawn from auth_robot_seq so that it is never
-- reused after a delete. Robots stored before are numbered 1, 2, ... in
-- the order they were created (ties by name), and the sequence continues
-- after them.
ALTER TABLE auth_robots ADD COLUMN id BIGINT NOT NULL DEFAULT 0;
UPDATE auth_robots SET id = (SELECT COUNT(*) FROM auth_robots AS o
    WHERE o.created_at < auth_robots.created_at
       OR (o.created_at = auth_robots.created_at AND o.name <= auth_robots.name));
CREATE UNIQUE INDEX auth_robots_id ON auth_robots (id);

CREATE TABLE auth_robot_seq (
    last_id BIGINT NOT NULL
);
INSERT INTO auth_robot_seq (last_id) SELECT COUNT(*) FROM auth_robots;
