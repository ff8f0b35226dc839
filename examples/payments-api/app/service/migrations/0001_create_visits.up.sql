-- The sample service's first table: one row per visit of a route. An expand step (it only adds),
-- so the release before it keeps working beside it. Applied by `python -m service.migrate up`.
CREATE TABLE visits (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    route text NOT NULL,
    visited_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX visits_visited_at ON visits (visited_at);
