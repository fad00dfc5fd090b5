"""A script opened for editing, runner side: its workspace, versions, lock and exports."""
