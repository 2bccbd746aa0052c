"""What trainers use: views, identity rendering, mixing recipes and exports."""
