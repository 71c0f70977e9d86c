"""Architecture search for RKD-SC (KDL-DARTS): DARTS cells in Keras 3 and the search driver."""
