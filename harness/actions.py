"""Android-in-the-Wild action codes (the dataset's ``results/action_type``)."""

TYPE = 3
DUAL_POINT = 4
PRESS_BACK = 5
PRESS_HOME = 6
PRESS_ENTER = 7
STATUS_TASK_COMPLETE = 10
STATUS_TASK_IMPOSSIBLE = 11

#: Codes that AitW actually uses; 0, 1, 2, 8 and 9 are defined but never occur.
USED_CODES = (TYPE, DUAL_POINT, PRESS_BACK, PRESS_HOME, PRESS_ENTER,
              STATUS_TASK_COMPLETE, STATUS_TASK_IMPOSSIBLE)

#: The action head has one logit per code 0..11, unused codes included.
NUM_ACTION_LOGITS = 12

NAMES = {
    TYPE: "TYPE",
    DUAL_POINT: "DUAL_POINT",
    PRESS_BACK: "PRESS_BACK",
    PRESS_HOME: "PRESS_HOME",
    PRESS_ENTER: "PRESS_ENTER",
    STATUS_TASK_COMPLETE: "STATUS_TASK_COMPLETE",
    STATUS_TASK_IMPOSSIBLE: "STATUS_TASK_IMPOSSIBLE",
}

#: Touch and lift points that AitW stores for every action that is not DUAL_POINT.
NO_POINT = (-1.0, -1.0)


def name(code: int) -> str:
    return NAMES.get(code, f"UNUSED_{code}")
