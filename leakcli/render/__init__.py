"""Floor 3, the templates rendered in Jinja's immutable sandbox (StrictUndefined, time and size
limits), with ref() and source() recorded while rendering and every rule taken from the contracts."""
