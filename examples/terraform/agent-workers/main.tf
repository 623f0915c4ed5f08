# Agent workers scaled by Terraform. Unguarded: the variable that sets the group's
# ceiling has no validation, so any value can be applied.

variable "worker_max_size" {
  type    = number
  default = 20
}

resource "aws_launch_template" "worker" {
  name_prefix   = "agent-worker-"
  image_id      = "ami-0123456789abcdef0"
  instance_type = "g5.xlarge"
}

resource "aws_autoscaling_group" "agent_workers" {
  name                = "agent-workers"
  min_size            = 1
  max_size            = var.worker_max_size
  vpc_zone_identifier = ["subnet-0123456789abcdef0"]

  launch_template {
    id      = aws_launch_template.worker.id
    version = "$Latest"
  }
}

resource "aws_autoscaling_schedule" "morning_peak" {
  scheduled_action_name  = "morning-peak"
  autoscaling_group_name = aws_autoscaling_group.agent_workers.name
  min_size               = 1
  max_size               = 200
  desired_capacity       = 10
  recurrence             = "0 7 * * *"
}
