"""The planner CLI's output contract, shared by the tests that run `localdev plan`."""

# The keys of the JSON document `localdev plan --json` prints, whether the plan completed or not.
PLAN_DOCUMENT_KEYS = {
    "parameters",
    "field_sources",
    "workflow_id",
    "status",
    "messages",
    "results",
    "error",
}
