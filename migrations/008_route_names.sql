-- Route templates are read from the OpenAPI document now, and spell path parameters
-- as the API documents them: usage analytics counted under the old hand-written names
-- move to the new ones, so that an endpoint's history stays one line.
UPDATE analytics_requests
SET route = replace(replace(replace(route,
    '{raceId}', '{race_id}'),
    '{seriesId}', '{series_id}'),
    '/api/users/{id}', '/api/users/{user_id}');
