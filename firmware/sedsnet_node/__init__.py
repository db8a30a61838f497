# sedsnet_node: the board runtime of sedsnet for MicroPython (a board config -> router, link
# sides, sensors, main loop). It requires the `sedsnet` library of the same release; a board's
# main.py is `from sedsnet_node.app import boot` (see boards/README.md).
