import { CHANNELS, channelName } from '../lib/channels'

/** The options of a channel <select>: the app's channels, in its order and words. */
export function ChannelOptions({ channels = CHANNELS }: { channels?: readonly string[] }) {
  return (
    <>
      {channels.map((channel) => (
        <option key={channel} value={channel}>
          {channelName(channel)}
        </option>
      ))}
    </>
  )
}
