// Reaction emoji: a quick row of the common ones, and a fuller grid by group. Plain strings: the
// system's emoji font draws them (no image sprites to download).
import type { JSX } from 'preact';

export const QUICK_EMOJI = ['👍', '❤️', '😂', '😮', '😢', '🎉', '🙏', '👎'];

const GROUPS: Array<[string, string]> = [
  ['Smileys', '😀 😃 😄 😁 😆 😅 🤣 😂 🙂 😉 😊 😇 🥰 😍 🤩 😘 😋 😛 😜 🤪 🤔 🤨 😐 😑 😶 🙄 😏 😬 😌 😔 😪 😴 😷 🤒 🤯 🥳 😎 🤓 😕 😟 😮 😲 😳 🥺 😢 😭 😱 😤 😡 🤬 💀 🤡 👻 🤖'],
  ['People', '👍 👎 👏 🙌 🙏 🤝 👋 ✌️ 🤞 🤟 👌 🤌 👀 💪 🫶 🤷 🤦 🙋 🙈 🙉 🙊'],
  ['Hearts', '❤️ 🧡 💛 💚 💙 💜 🖤 🤍 💔 ❣️ 💕 💯 ✨ 🔥 ⭐ 🌟 💥 💫'],
  ['Things', '🎉 🎊 🎁 🏆 🥇 ⚽ 🎮 🎵 🎶 📌 📍 💡 📅 ⏰ ✅ ❌ ⚠️ ❓ ❗ ➕ 🚀 ☕ 🍕 🍻 🍰 🌈 ☀️ 🌧️ ❄️ 🐶 🐱 🦊 🐦'],
];

export function EmojiGrid({ mine, onPick }: { mine: ReadonlySet<string>; onPick: (emoji: string) => void }): JSX.Element {
  return (
    <div class="emoji-grid">
      {GROUPS.map(([name, list]) => (
        <div key={name} role="group" aria-label={name}>
          <h3 class="sub">{name}</h3>
          <div class="emoji-row">
            {list.split(' ').map((e) => (
              <button key={e} type="button" class={`emoji${mine.has(e) ? ' mine' : ''}`} aria-label={mine.has(e) ? `Remove ${e}` : `React ${e}`} aria-pressed={mine.has(e)} onClick={() => onPick(e)}>
                {e}
              </button>
            ))}
          </div>
        </div>
      ))}
    </div>
  );
}
