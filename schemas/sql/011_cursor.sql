-- List cursors of the axes that list by window rather than by pending state (adapter lgsp_rest:
-- the Vietnam date its next syncReceivedEdocList window starts). One row per (axis, kind),
-- written by the poller only after every item of a list was handled (stored, duplicate or
-- refused), so a crash or a local failure lists the same window again. vxp stores none.

CREATE TABLE axis_cursor (
    axis       text NOT NULL,
    kind       text NOT NULL CHECK (kind IN ('edoc', 'status')),
    cursor     text NOT NULL CHECK (length(cursor) BETWEEN 1 AND 256),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (axis, kind)
);
